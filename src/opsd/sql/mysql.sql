-- ops-worker schema for MySQL / MariaDB. The four ops tables are the original's
-- mysql/002-labstation-ops.sql; lab_reservations is owned by blockchain-services and is
-- created here only when it is missing (tests, stand-alone gateways), without its
-- foreign key to auth_users. ops_reservation_claims is ours (scheduler claims).
-- Statements are separated by ";" at the end of a line.
CREATE TABLE IF NOT EXISTS lab_hosts (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(128) NOT NULL,
  address VARCHAR(255) NOT NULL,
  mac VARCHAR(32) NULL,
  mode ENUM('pure','hybrid') DEFAULT 'pure',
  last_seen DATETIME NULL,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  UNIQUE KEY uk_lab_hosts_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS lab_host_heartbeat (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  host_id BIGINT NOT NULL,
  timestamp_utc DATETIME NOT NULL,
  ready BOOLEAN NULL,
  local_mode BOOLEAN NULL,
  local_session BOOLEAN NULL,
  last_forced_logoff_ts DATETIME NULL,
  last_forced_logoff_user VARCHAR(128),
  last_power_action_ts DATETIME NULL,
  last_power_action_mode VARCHAR(32),
  raw_json LONGTEXT NOT NULL,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
  KEY idx_host_ts (host_id, timestamp_utc),
  CONSTRAINT fk_heartbeat_host FOREIGN KEY (host_id) REFERENCES lab_hosts(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS lab_host_events (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  host_id BIGINT NOT NULL,
  kind VARCHAR(64) NOT NULL,
  timestamp_utc DATETIME NOT NULL,
  payload JSON,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
  KEY idx_host_kind_ts (host_id, kind, timestamp_utc),
  CONSTRAINT fk_events_host FOREIGN KEY (host_id) REFERENCES lab_hosts(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS reservation_operations (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  reservation_id VARCHAR(128) NOT NULL,
  lab_id VARCHAR(128) NULL,
  host VARCHAR(128) NOT NULL,
  action VARCHAR(32) NOT NULL,
  status VARCHAR(32) NOT NULL,
  success BOOLEAN NOT NULL DEFAULT FALSE,
  response_code INT,
  duration_ms INT,
  payload JSON,
  message TEXT,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
  KEY idx_reservation_action (reservation_id, action)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS lab_reservations (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  transaction_hash VARCHAR(66) NOT NULL UNIQUE,
  user_id BIGINT NOT NULL,
  wallet_address VARCHAR(42) NOT NULL,
  lab_id VARCHAR(128) NOT NULL,
  start_time TIMESTAMP NOT NULL,
  end_time TIMESTAMP NOT NULL,
  block_number BIGINT,
  contract_address VARCHAR(42),
  status ENUM('PENDING','CONFIRMED','ACTIVE','COMPLETED','CANCELLED') DEFAULT 'PENDING',
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  INDEX idx_transaction_hash (transaction_hash),
  INDEX idx_user_id (user_id),
  INDEX idx_wallet_address (wallet_address),
  INDEX idx_lab_id (lab_id),
  INDEX idx_start_time (start_time),
  INDEX idx_status (status),
  INDEX idx_lab_reservations_active (status, start_time, end_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS ops_reservation_claims (
  reservation_id VARCHAR(128) NOT NULL,
  phase VARCHAR(16) NOT NULL,
  owner VARCHAR(128) NOT NULL,
  attempts INT NOT NULL DEFAULT 0,
  claimed_until DATETIME NOT NULL,
  updated_at DATETIME NOT NULL,
  PRIMARY KEY (reservation_id, phase)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
