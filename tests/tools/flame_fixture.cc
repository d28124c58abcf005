// Placeholder: being written for issue 3.
int main() { return 0; }
