"""Run a server folder's server-level checks in a child process, so the server's code cannot take the session down."""
