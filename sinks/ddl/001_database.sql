-- The sink's database. {database} is replaced by the sink (a checked identifier).
CREATE DATABASE IF NOT EXISTS {database}
