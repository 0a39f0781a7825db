"""Read models: Django tables written only by their projectors, rebuildable from history."""
