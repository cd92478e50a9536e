claude mcp add maestro -- maestro mcp
