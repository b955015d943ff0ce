-- PostgreSQL privileges for the application role (S10; see docs/security/audit.md).
--
-- The application must not connect as the role that owns the tables: an owner can disable
-- triggers and grant itself anything back. Migrate as the owner; run the app as outreach_app.
--
--   1. As a superuser, once:   CREATE ROLE outreach_app LOGIN PASSWORD '<choose one>';
--   2. As the owner, after every `outreach init` (the script is idempotent), with
--      search_path set to the outreach schema:
--          psql "<owner url>" -1 -v ON_ERROR_STOP=1 -f config/postgres_roles.sql
--   3. Point OUTREACH_DATABASE_URL at outreach_app.

DO $$
DECLARE
    here text := quote_ident(current_schema());
BEGIN
    EXECUTE 'GRANT USAGE ON SCHEMA ' || here || ' TO outreach_app';
    EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ' || here
        || ' TO outreach_app';
    EXECUTE 'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ' || here || ' TO outreach_app';
END
$$;

-- The audit log is append-only for the application: it may add and read events, never
-- change, delete or truncate them. The append-only triggers from migration 0001 refuse
-- UPDATE and DELETE for every role as well; TRUNCATE fires no row trigger, so only this
-- REVOKE stops it.
REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON audit_event FROM outreach_app;
