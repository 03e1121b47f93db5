"""OAuth clients: registration by tenant admins, secrets, redirect URIs, scopes, grant types."""
