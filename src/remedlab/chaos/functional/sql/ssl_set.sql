ALTER SYSTEM SET ssl = {value};
