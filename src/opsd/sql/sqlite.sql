-- ops-worker schema for SQLite: the same tables and columns as the MySQL schema, with
-- SQLite types. Datetimes are TEXT 'YYYY-MM-DD HH:MM:SS' in UTC, which sorts and compares
-- like DATETIME. Statements are separated by ";" at the end of a line.
CREATE TABLE IF NOT EXISTS lab_hosts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  address TEXT NOT NULL,
  mac TEXT NULL,
  mode TEXT DEFAULT 'pure' CHECK (mode IN ('pure','hybrid')),
  last_seen TEXT NULL,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP,
  updated_at TEXT DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT uk_lab_hosts_name UNIQUE (name)
);
CREATE TABLE IF NOT EXISTS lab_host_heartbeat (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  host_id INTEGER NOT NULL REFERENCES lab_hosts(id) ON DELETE CASCADE,
  timestamp_utc TEXT NOT NULL,
  ready INTEGER NULL,
  local_mode INTEGER NULL,
  local_session INTEGER NULL,
  last_forced_logoff_ts TEXT NULL,
  last_forced_logoff_user TEXT,
  last_power_action_ts TEXT NULL,
  last_power_action_mode TEXT,
  raw_json TEXT NOT NULL,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_host_ts ON lab_host_heartbeat (host_id, timestamp_utc);
CREATE TABLE IF NOT EXISTS lab_host_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  host_id INTEGER NOT NULL REFERENCES lab_hosts(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  timestamp_utc TEXT NOT NULL,
  payload TEXT,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_host_kind_ts ON lab_host_events (host_id, kind, timestamp_utc);
CREATE TABLE IF NOT EXISTS reservation_operations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  reservation_id TEXT NOT NULL,
  lab_id TEXT NULL,
  host TEXT NOT NULL,
  action TEXT NOT NULL,
  status TEXT NOT NULL,
  success INTEGER NOT NULL DEFAULT 0,
  response_code INTEGER,
  duration_ms INTEGER,
  payload TEXT,
  message TEXT,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_reservation_action ON reservation_operations (reservation_id, action);
CREATE TABLE IF NOT EXISTS lab_reservations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  transaction_hash TEXT NOT NULL UNIQUE,
  user_id INTEGER NOT NULL,
  wallet_address TEXT NOT NULL,
  lab_id TEXT NOT NULL,
  start_time TEXT NOT NULL,
  end_time TEXT NOT NULL,
  block_number INTEGER,
  contract_address TEXT,
  status TEXT DEFAULT 'PENDING'
    CHECK (status IN ('PENDING','CONFIRMED','ACTIVE','COMPLETED','CANCELLED')),
  created_at TEXT DEFAULT CURRENT_TIMESTAMP,
  updated_at TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_lab_reservations_active ON lab_reservations (status, start_time, end_time);
CREATE INDEX IF NOT EXISTS idx_lab_id ON lab_reservations (lab_id);
CREATE TABLE IF NOT EXISTS ops_reservation_claims (
  reservation_id TEXT NOT NULL,
  phase TEXT NOT NULL,
  owner TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  claimed_until TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (reservation_id, phase)
);
