from maestro_mcp.cli.main import main

main()
