"""The conversation itself, declared step by step; each module's docstring tells its part in plain words."""
