"""TODO(issue 5): subinterpreters with their own GIL."""
import unittest
if __name__ == "__main__":
    unittest.main()
