"""The database schema, as an ordered list of migrations.

``PRAGMA user_version`` holds how many migrations a database has applied. A
migration is never edited once released: change the schema by appending one.
"""

# Migration 7's rule (events.subjects, said in SQL over a row of ``events``): what an
# event appended without its task and session is about. Part of that migration: never
# edited either.
_TASK_OF_EVENT = """CASE
        WHEN type IN ('task:created', 'task:updated', 'task:deleted')
            THEN json_extract(payload, '$.data.id')
        WHEN type IN ('task:claimed', 'task:released', 'session:task_added',
                      'session:task_removed')
            THEN json_extract(payload, '$.data.taskId')
    END"""
_SESSION_OF_EVENT = """CASE
        WHEN type IN ('session:created', 'session:updated', 'session:deleted')
            THEN json_extract(payload, '$.data.id')
        WHEN type IN ('task:claimed', 'task:released', 'session:task_added',
                      'session:task_removed', 'session:note_added')
            THEN json_extract(payload, '$.data.sessionId')
        WHEN type = 'task:updated'
            THEN json_extract(payload, '$.data.claim.sessionId')
    END"""
_ABOUT_SOMETHING = "type LIKE 'task:%' OR type LIKE 'session:%'"

MIGRATIONS: tuple[str, ...] = (
    # 1: projects, tasks, sessions, the task<->session link, the event log, idempotency records.
    """
    CREATE TABLE projects (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        working_dir TEXT,
        description TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        version INTEGER NOT NULL
    );

    CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        parent_id TEXT REFERENCES tasks(id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        prompt TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        priority TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        started_at INTEGER,
        completed_at INTEGER,
        version INTEGER NOT NULL
    );
    CREATE INDEX tasks_by_project ON tasks(project_id);
    CREATE INDEX tasks_by_parent ON tasks(parent_id);

    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        agent TEXT,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_activity_at INTEGER NOT NULL,
        ended_at INTEGER,
        version INTEGER NOT NULL
    );
    CREATE INDEX sessions_by_project ON sessions(project_id);

    -- The one place a task<->session link is stored; both sides' lists derive from it.
    -- Rowids keep entities and links in the order they were made.
    CREATE TABLE task_sessions (
        id INTEGER PRIMARY KEY,
        task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        UNIQUE (task_id, session_id)
    );
    CREATE INDEX task_sessions_by_session ON task_sessions(session_id);

    -- The event log is the bus: payload is the complete JSON envelope, encoded once.
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        type TEXT NOT NULL,
        project_id TEXT,
        payload TEXT NOT NULL
    );

    CREATE TABLE idempotency (
        key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        result TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX idempotency_by_age ON idempotency(created_at);
    """,
    # 2: a session's progress notes, its own append-only collection.
    """
    CREATE TABLE session_notes (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        message TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX session_notes_by_session ON session_notes(session_id, id);
    """,
    # 3: coordination: labels, dependencies between tasks, claims with leases.
    """
    ALTER TABLE tasks ADD COLUMN labels TEXT NOT NULL DEFAULT '[]';
    -- A claim: which session holds the task, until when, and the secret that proves it.
    -- Never in an event: the token goes to the claimer only.
    ALTER TABLE tasks ADD COLUMN claim_session_id TEXT;
    ALTER TABLE tasks ADD COLUMN claim_token TEXT;
    ALTER TABLE tasks ADD COLUMN claimed_at INTEGER;
    ALTER TABLE tasks ADD COLUMN claim_expires_at INTEGER;
    ALTER TABLE tasks ADD COLUMN claim_lease_ms INTEGER;
    CREATE INDEX tasks_by_claim_expiry ON tasks(claim_expires_at)
        WHERE claim_expires_at IS NOT NULL;
    CREATE INDEX tasks_by_claim_session ON tasks(claim_session_id)
        WHERE claim_session_id IS NOT NULL;

    CREATE TABLE task_deps (
        task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        depends_on_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        PRIMARY KEY (task_id, depends_on_id)
    ) WITHOUT ROWID;
    CREATE INDEX task_deps_by_dependency ON task_deps(depends_on_id);
    """,
    # 4: claims that ended, so a token presented afterwards is told what happened.
    """
    CREATE TABLE ended_claims (
        token TEXT PRIMARY KEY,
        task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        session_id TEXT NOT NULL,
        ended_at INTEGER NOT NULL,
        reason TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX ended_claims_by_age ON ended_claims(ended_at);
    CREATE INDEX ended_claims_by_task ON ended_claims(task_id);
    -- claim-next results are now an object ({claims, nothingReady}): a retry of one kept
    -- in the old shape (a list) is forgotten rather than replayed wrong.
    DELETE FROM idempotency WHERE json_type(result, '$.value') = 'array';
    """,
    # 5: the log's history, named at random when the database is made: seqs are only
    # comparable within one history (sync:ready carries it as the epoch). A copy made by
    # `maestro import` gets a new one.
    """
    CREATE TABLE history (
        only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
        epoch TEXT NOT NULL
    );
    INSERT INTO history (only_row, epoch) VALUES (1, lower(hex(randomblob(8))));
    """,
    # 6: named tokens, each with a scope; the secret is kept only as its SHA-256.
    """
    CREATE TABLE tokens (
        name TEXT PRIMARY KEY,
        scope TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    # 7: what each event is about (events.subjects), so that a task's history and a
    # project's activity are read through an index, newest first. Events appended before
    # get theirs from their payloads; so do the events an older Maestro still running on
    # the file appends (it knows nothing of the columns): the trigger fills them, and
    # fires for no other row (this code fills them itself). Pruning deletes index entries
    # with their rows.
    f"""
    ALTER TABLE events ADD COLUMN task_id TEXT;
    ALTER TABLE events ADD COLUMN session_id TEXT;
    UPDATE events SET task_id = {_TASK_OF_EVENT}, session_id = {_SESSION_OF_EVENT}
    WHERE {_ABOUT_SOMETHING};
    CREATE TRIGGER events_subjects AFTER INSERT ON events
    WHEN NEW.task_id IS NULL AND NEW.session_id IS NULL
        AND (NEW.type LIKE 'task:%' OR NEW.type LIKE 'session:%')
    BEGIN
        UPDATE events SET task_id = {_TASK_OF_EVENT}, session_id = {_SESSION_OF_EVENT}
        WHERE seq = NEW.seq;
    END;
    CREATE INDEX events_by_project ON events(project_id, seq);
    CREATE INDEX events_by_task ON events(task_id, seq) WHERE task_id IS NOT NULL;
    CREATE INDEX events_by_session ON events(session_id, seq) WHERE session_id IS NOT NULL;
    """,
    # 8: coordination beyond tasks: messages with each recipient's read state, agents'
    # questions for the people, and file reservations. Rowids (``ord``) keep the order
    # things were made. A message outlives its sender's session (no reference); a
    # question and a reservation go with their session; a question keeps the id of its
    # task after the task is deleted (what it was about); a reservation taken with a
    # task's claim is released before the task goes.
    """
    CREATE TABLE messages (
        ord INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        thread_id TEXT NOT NULL,
        reply_to TEXT,
        from_session_id TEXT,
        sender TEXT NOT NULL,
        addressed TEXT NOT NULL,
        subject TEXT NOT NULL DEFAULT '',
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX messages_by_project ON messages(project_id, ord);
    CREATE INDEX messages_by_thread ON messages(thread_id, ord);
    CREATE INDEX messages_by_sender ON messages(from_session_id, ord)
        WHERE from_session_id IS NOT NULL;

    CREATE TABLE message_recipients (
        message_ord INTEGER NOT NULL REFERENCES messages(ord) ON DELETE CASCADE,
        recipient TEXT NOT NULL,
        read_at INTEGER,
        read_by TEXT,
        acked_at INTEGER,
        acked_by TEXT,
        PRIMARY KEY (recipient, message_ord)
    );
    CREATE INDEX message_recipients_by_message ON message_recipients(message_ord);
    -- What a recipient has not read: every report of a session counts it, and the
    -- humans' inbox of a busy database only grows.
    CREATE INDEX message_recipients_unread ON message_recipients(recipient, message_ord)
        WHERE read_at IS NULL;

    CREATE TABLE questions (
        ord INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        task_id TEXT,  -- kept after its task is deleted: what the question was about
        text TEXT NOT NULL,
        choices TEXT NOT NULL DEFAULT '[]',
        allow_text INTEGER NOT NULL,
        default_answer TEXT,
        deadline_at INTEGER,
        status TEXT NOT NULL,
        answer TEXT,
        answered_by TEXT,
        answered_at INTEGER,
        defaulted INTEGER NOT NULL DEFAULT 0,
        delivered_at INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        version INTEGER NOT NULL
    );
    CREATE INDEX questions_by_project ON questions(project_id, ord);
    CREATE INDEX questions_by_session ON questions(session_id, ord);
    CREATE INDEX questions_by_task ON questions(task_id) WHERE task_id IS NOT NULL;
    CREATE INDEX questions_by_deadline ON questions(deadline_at)
        WHERE status = 'open' AND deadline_at IS NOT NULL;

    CREATE TABLE reservations (
        ord INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        task_id TEXT REFERENCES tasks(id) ON DELETE SET NULL,
        pattern TEXT NOT NULL,
        exclusive INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        lease_ms INTEGER NOT NULL,
        UNIQUE (session_id, pattern)
    );
    CREATE INDEX reservations_by_project ON reservations(project_id, ord);
    CREATE INDEX reservations_by_task ON reservations(task_id) WHERE task_id IS NOT NULL;
    CREATE INDEX reservations_by_expiry ON reservations(expires_at);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)

# Names the log's history anew: an import, or a log found rewound (Store.renew_epoch).
RENEW_EPOCH = "UPDATE history SET epoch = lower(hex(randomblob(8)))"
