// placeholder: filled in by the native-unwinding change
