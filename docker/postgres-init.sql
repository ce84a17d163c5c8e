-- Runs once, when the postgres volume is first initialised (docker-entrypoint-initdb.d), as
-- POSTGRES_USER in POSTGRES_DB. The portal keeps its own database (`portal`); the MLflow
-- tracking server gets a separate one so neither's migrations touch the other's tables.
CREATE DATABASE mlflow OWNER portal;
