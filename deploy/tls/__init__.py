"""HTTPS: the class's certificates (files, class CA, ACME) and the server's TLS step."""
