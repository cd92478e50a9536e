"""docs/cli.md, generated from the commands themselves so it cannot drift from ``--help``.

Regenerate with ``python -m maestro_mcp.cli.reference > docs/cli.md``; a test checks it.
"""

import click

from .errors import Exit
from .main import cli

INTRO = """\
# The `maestro` command line

Every operation from the terminal. Client commands talk to a running server
(`maestro serve`) over its REST API and live feed; `serve`, `mcp`, `export`,
`import`, `agent-config`, `guard install` and `guard uninstall` run locally.

Options every client command takes (each with an environment fallback):

| option | environment | default |
|---|---|---|
| `--url` | `MAESTRO_URL` | `http://127.0.0.1:3000` |
| `--project` | `MAESTRO_PROJECT` | the only project, if there is one (id or name) |
| `--token` | `MAESTRO_TOKEN` | none |
| `--json` | | off: human output |

Human output is a `✓` line per change and aligned tables, coloured only on a
terminal (`NO_COLOR` turns colour off). `--json` prints exactly one JSON document
per command on stdout, in the API's own shapes (`watch --json`: one event per
line); errors go to stderr, as `{"error": {code, message, details}}` with `--json`.

Creates send an `Idempotency-Key`, and every request is retried on connection
failures, so a create whose answer was lost still creates exactly one entity.
Every request names the CLI (`X-Maestro-Client: cli`), so its changes carry the actor
`local/cli` on a server without tokens (`<token name>/cli` with one), not the bare
`local` of a client that names none (curl).

## Exit codes

| code | meaning |
|---|---|
"""

EXIT_MEANING = {
    Exit.OK: "success",
    Exit.ERROR: "the server failed, or something unexpected; `guard check`: another session "
    "holds files the commit touches",
    Exit.USAGE: "a bad command line (unknown option, invalid value such as a status)",
    Exit.NOT_FOUND: "no such project, task, session or reservation",
    Exit.INVALID: "the server refused the input (e.g. a title too long); `import`: the file "
    "is not a whole export",
    Exit.CONFLICT: "a version conflict: the entity changed since the version given; `import`: "
    "the database is not empty",
    Exit.UNREACHABLE: "no server at the URL (start it with `maestro serve`)",
    Exit.DENIED: "the token is missing or wrong, or the Host/Origin was refused",
}

COMMON = {"--url", "--token", "--project", "--json", "--help"}


def leaves(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name in sorted(group.commands, key=_order):
        command = group.commands[name]
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found += leaves(command, path)
        else:
            found.append((path, command))
    return found


def _order(name: str) -> tuple[int, str]:
    first = ["project", "task", "session", "watch", "status", "serve", "mcp", "agent-config"]
    return (first.index(name), name) if name in first else (len(first), name)


def render() -> str:
    parts = [INTRO]
    parts += [f"| {int(code)} | {meaning} |\n" for code, meaning in EXIT_MEANING.items()]
    parts.append("\n## Commands\n")
    for path, command in leaves(cli, "maestro"):
        context = click.Context(command, info_name=path, terminal_width=200, max_content_width=200)
        help_text = (command.help or "").replace("\b\n", "")
        summary, _, rest = help_text.partition("\n")
        parts.append(f"\n### `{path}`\n\n{summary.strip()}\n\n")
        parts.append(f"```\n{command.get_usage(context).removeprefix('Usage: ')}\n```\n")
        params = [p for p in command.get_params(context) if isinstance(p, click.Option)]
        # Client commands share --url, --token, --project, --json (documented once above).
        client = any(p.opts[0] == "--url" for p in params)
        rows = []
        for param in params:
            if "--help" in param.opts or (client and param.opts[0] in COMMON):
                continue
            names = ", ".join(f"`{o}`" for o in param.opts + param.secondary_opts)
            rows.append(f"| {names} | {(param.help or '').replace('|', '/')} |\n")
        if rows:
            parts.append("\n| option | |\n|---|---|\n" + "".join(rows))
        if rest.strip():
            parts.append("\n" + _examples(rest))
    return "".join(parts)


def _examples(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines()]
    prose = [line for line in lines if line and not line.startswith("maestro ")]
    examples = [line for line in lines if line.startswith("maestro ")]
    body = " ".join(p for p in prose if not p.startswith("Example"))
    out = f"{body}\n\n" if body else ""
    if examples:
        out += "```sh\n" + "\n".join(examples) + "\n```\n"
    return out


if __name__ == "__main__":
    print(render(), end="")
