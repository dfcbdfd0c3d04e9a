"""Package requests: users file what they need in a shared env, admins approve it into a release."""
