"""Driver scripts that run the real stack on this machine (fault tests, soak); not part of the product."""
