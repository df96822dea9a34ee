"""Survey logic: questionnaires, flow, index, digest content — pure, no I/O."""
