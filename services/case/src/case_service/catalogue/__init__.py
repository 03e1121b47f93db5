"""The library of administrative services (platform-wide, versioned) and each tenant's
parameters for them (versioned by validity dates); the public catalogue reads both."""
