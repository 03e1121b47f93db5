"""The OAuth 2.0 / OpenID Connect protocol endpoints: discovery, /authorize with its login page,
/token, /userinfo, /revoke and /introspect. JOSE is joserfc; no server-side OAuth framework
(see docs/adr/0005-oauth-server-on-joserfc.md)."""
