// placeholder: filled in by the stack-merging change
