"""Running the desk for a team: nginx in front of several hosts, rolling deploys, in-place restarts."""
