"""Getting an assignment to students: `bundle` builds the student release, `validate`
checks an assignment is ready to hand out."""
