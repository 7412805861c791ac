"""Resources servers shipped with gym-conform: tools, verify() and example data per folder."""
