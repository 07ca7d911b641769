"""How one message goes out, shared by the per-user methods and the team channel kinds: the
outcome of a send, the HTTP client with its destination guard, SMTP connections and the
email composer."""
