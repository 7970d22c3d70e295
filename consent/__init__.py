"""consent service — arrives with its own issue (see the README's roadmap)."""
