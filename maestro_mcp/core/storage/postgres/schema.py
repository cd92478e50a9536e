"""The PostgreSQL schema, as an ordered list of migrations, and the row that says which
ones a database has.

``maestro_schema`` holds the version (how many migrations were applied), the oldest
version of the code that may still use the database (a migration that only adds
what old code ignores leaves it; one that changes meaning raises it), and the epoch:
the log's history, named at random when the database is made.

Migrations run in one transaction under an advisory lock, so instances that start
together apply them once. A migration is never edited once released.
"""

# Names the log's history anew: an import, or a log found rewound (Store.renew_epoch).
RENEW_EPOCH = "UPDATE maestro_schema SET epoch = md5(random()::text || clock_timestamp()::text)"

# The one row of maestro_schema is made by the first migration; before it exists the
# version is 0.
MIGRATIONS: tuple[str, ...] = (
    # 1: everything SQLite's migrations 1-5 hold, in one step.
    """
    CREATE TABLE maestro_schema (
        only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
        version INTEGER NOT NULL,
        readable_from INTEGER NOT NULL,
        epoch TEXT NOT NULL
    );
    INSERT INTO maestro_schema (version, readable_from, epoch)
    VALUES (0, 1, md5(random()::text || clock_timestamp()::text));

    -- `ord` keeps creation order (SQLite's rowid).
    CREATE TABLE projects (
        id TEXT PRIMARY KEY,
        ord BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        name TEXT NOT NULL,
        working_dir TEXT,
        description TEXT NOT NULL DEFAULT '',
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        version INTEGER NOT NULL
    );

    CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        ord BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        parent_id TEXT REFERENCES tasks(id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        prompt TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        priority TEXT NOT NULL,
        labels TEXT[] NOT NULL DEFAULT '{}',
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        started_at BIGINT,
        completed_at BIGINT,
        version INTEGER NOT NULL,
        -- A claim: never in an event; the token goes to the claimer only.
        claim_session_id TEXT,
        claim_token TEXT,
        claimed_at BIGINT,
        claim_expires_at BIGINT,
        claim_lease_ms BIGINT
    );
    CREATE INDEX tasks_by_project ON tasks(project_id, ord);
    CREATE INDEX tasks_by_parent ON tasks(parent_id);
    CREATE INDEX tasks_by_claim_expiry ON tasks(claim_expires_at)
        WHERE claim_expires_at IS NOT NULL;
    CREATE INDEX tasks_by_claim_session ON tasks(claim_session_id)
        WHERE claim_session_id IS NOT NULL;

    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        ord BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        agent TEXT,
        status TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        last_activity_at BIGINT NOT NULL,
        ended_at BIGINT,
        version INTEGER NOT NULL
    );
    CREATE INDEX sessions_by_project ON sessions(project_id, ord);

    -- The one place a task<->session link is stored; both sides' lists derive from it.
    CREATE TABLE task_sessions (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        UNIQUE (task_id, session_id)
    );
    CREATE INDEX task_sessions_by_session ON task_sessions(session_id);

    CREATE TABLE session_notes (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        message TEXT NOT NULL,
        created_at BIGINT NOT NULL
    );
    CREATE INDEX session_notes_by_session ON session_notes(session_id, id);

    CREATE TABLE task_deps (
        task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        depends_on_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        PRIMARY KEY (task_id, depends_on_id)
    );
    CREATE INDEX task_deps_by_dependency ON task_deps(depends_on_id);

    CREATE TABLE ended_claims (
        token TEXT PRIMARY KEY,
        task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        session_id TEXT NOT NULL,
        ended_at BIGINT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE INDEX ended_claims_by_age ON ended_claims(ended_at);
    CREATE INDEX ended_claims_by_task ON ended_claims(task_id);

    -- The event log is the bus: payload is the complete JSON envelope, encoded once.
    CREATE TABLE events (
        seq BIGINT PRIMARY KEY,
        ts BIGINT NOT NULL,
        type TEXT NOT NULL,
        project_id TEXT,
        payload TEXT NOT NULL
    );
    -- The newest seq. Advanced once per transaction, by the statement that appends its
    -- events, at the very end: its row lock, held until COMMIT, makes seq order commit
    -- order (a sequence would commit out of order and leave gaps).
    CREATE TABLE event_head (
        only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
        seq BIGINT NOT NULL
    );
    INSERT INTO event_head (seq) VALUES (0);

    -- A key is inserted first (result NULL) and filled in by the same transaction: a
    -- duplicate on another instance waits on the unique index, then replays it.
    CREATE TABLE idempotency (
        key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        result TEXT,
        seq BIGINT,
        created_at BIGINT NOT NULL
    );
    CREATE INDEX idempotency_by_age ON idempotency(created_at);
    """,
    # 2: named tokens, each with a scope; the secret is kept only as its SHA-256.
    # Code older than this would not ask for them: it may not use the database.
    """
    CREATE TABLE tokens (
        name TEXT PRIMARY KEY,
        scope TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        created_by TEXT NOT NULL
    );
    """,
    # 3: what each event is about (events.subjects), so that a task's history and a
    # project's activity are read through an index, newest first. Events appended before
    # get theirs from their payloads. Code older than this may still use the database
    # (READABLE_FROM stays): it appends events without these columns, and the trigger
    # fills them from the payload, so that history stays whole through a rolling
    # upgrade. It fires only for such rows (this code fills them itself); a migration
    # that raises READABLE_FROM past 2 may drop it.
    """
    ALTER TABLE events ADD COLUMN task_id TEXT, ADD COLUMN session_id TEXT;

    CREATE FUNCTION maestro_event_task(event_type TEXT, data JSON) RETURNS TEXT
    LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE
            WHEN event_type IN ('task:created', 'task:updated', 'task:deleted')
                THEN data ->> 'id'
            WHEN event_type IN ('task:claimed', 'task:released',
                                'session:task_added', 'session:task_removed')
                THEN data ->> 'taskId'
        END
    $$;
    CREATE FUNCTION maestro_event_session(event_type TEXT, data JSON) RETURNS TEXT
    LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE
            WHEN event_type IN ('session:created', 'session:updated', 'session:deleted')
                THEN data ->> 'id'
            WHEN event_type IN ('task:claimed', 'task:released', 'session:task_added',
                                'session:task_removed', 'session:note_added')
                THEN data ->> 'sessionId'
            WHEN event_type = 'task:updated'
                THEN data -> 'claim' ->> 'sessionId'
        END
    $$;

    UPDATE events SET
        task_id = maestro_event_task(type, payload::json -> 'data'),
        session_id = maestro_event_session(type, payload::json -> 'data')
    WHERE type LIKE 'task:%' OR type LIKE 'session:%';

    CREATE FUNCTION maestro_event_subjects() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        data JSON := NEW.payload::json -> 'data';
    BEGIN
        NEW.task_id := maestro_event_task(NEW.type, data);
        NEW.session_id := maestro_event_session(NEW.type, data);
        RETURN NEW;
    END
    $$;
    CREATE TRIGGER events_subjects BEFORE INSERT ON events FOR EACH ROW
        WHEN (NEW.task_id IS NULL AND NEW.session_id IS NULL
              AND (NEW.type LIKE 'task:%' OR NEW.type LIKE 'session:%'))
        EXECUTE FUNCTION maestro_event_subjects();

    CREATE INDEX events_by_project ON events(project_id, seq);
    CREATE INDEX events_by_task ON events(task_id, seq) WHERE task_id IS NOT NULL;
    CREATE INDEX events_by_session ON events(session_id, seq) WHERE session_id IS NOT NULL;
    """,
    # 4: coordination beyond tasks (SQLite's migration 8): messages with each recipient's
    # read state, agents' questions for the people, and file reservations. `ord` keeps
    # the order things were made (a message's recipients too: the order it named them).
    # A message outlives its sender's session (no reference); a question and a
    # reservation go with their session; a question keeps its task's id after the task
    # is deleted, and a reservation taken with a task's claim is released before the
    # task goes. Lists of strings (a message's addresses, a question's choices) are text
    # arrays, as labels are.
    # Code older than this may still use the database (READABLE_FROM stays): it knows
    # nothing of these tables and leaves them alone; leases it does not renew run out.
    """
    CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        ord BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        thread_id TEXT NOT NULL,
        reply_to TEXT,
        from_session_id TEXT,
        sender TEXT NOT NULL,
        addressed TEXT[] NOT NULL,
        subject TEXT NOT NULL DEFAULT '',
        body TEXT NOT NULL,
        created_at BIGINT NOT NULL
    );
    CREATE INDEX messages_by_project ON messages(project_id, ord);
    CREATE INDEX messages_by_thread ON messages(thread_id, ord);
    CREATE INDEX messages_by_sender ON messages(from_session_id, ord)
        WHERE from_session_id IS NOT NULL;

    CREATE TABLE message_recipients (
        message_ord BIGINT NOT NULL REFERENCES messages(ord) ON DELETE CASCADE,
        ord BIGINT GENERATED ALWAYS AS IDENTITY,
        recipient TEXT NOT NULL,
        read_at BIGINT,
        read_by TEXT,
        acked_at BIGINT,
        acked_by TEXT,
        PRIMARY KEY (recipient, message_ord)
    );
    CREATE INDEX message_recipients_by_message ON message_recipients(message_ord, ord);
    -- What a recipient has not read: every report of a session counts it, and the
    -- humans' inbox of a busy database is long (SQLite walks the recipient's entries).
    CREATE INDEX message_recipients_unread ON message_recipients(recipient, message_ord)
        WHERE read_at IS NULL;

    CREATE TABLE questions (
        id TEXT PRIMARY KEY,
        ord BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        task_id TEXT,  -- kept after its task is deleted: what the question was about
        text TEXT NOT NULL,
        choices TEXT[] NOT NULL DEFAULT '{}',
        allow_text BOOLEAN NOT NULL,
        default_answer TEXT,
        deadline_at BIGINT,
        status TEXT NOT NULL,
        answer TEXT,
        answered_by TEXT,
        answered_at BIGINT,
        defaulted BOOLEAN NOT NULL DEFAULT FALSE,
        delivered_at BIGINT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        version INTEGER NOT NULL
    );
    CREATE INDEX questions_by_project ON questions(project_id, ord);
    CREATE INDEX questions_by_session ON questions(session_id, ord);
    CREATE INDEX questions_by_task ON questions(task_id) WHERE task_id IS NOT NULL;
    CREATE INDEX questions_by_deadline ON questions(deadline_at)
        WHERE status = 'open' AND deadline_at IS NOT NULL;

    CREATE TABLE reservations (
        id TEXT PRIMARY KEY,
        ord BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        task_id TEXT REFERENCES tasks(id) ON DELETE SET NULL,
        pattern TEXT NOT NULL,
        exclusive BOOLEAN NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        lease_ms BIGINT NOT NULL,
        UNIQUE (session_id, pattern)
    );
    CREATE INDEX reservations_by_project ON reservations(project_id, ord);
    CREATE INDEX reservations_by_task ON reservations(task_id) WHERE task_id IS NOT NULL;
    CREATE INDEX reservations_by_expiry ON reservations(expires_at);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
# The oldest schema version this code can use (it reads databases up to SCHEMA_VERSION,
# and newer ones whose readable_from is at most SCHEMA_VERSION).
READABLE_FROM = 2
