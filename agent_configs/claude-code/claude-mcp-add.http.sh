claude mcp add --transport http maestro http://127.0.0.1:3000/mcp
