"""PTI Bot: the chatbot that enrolls self-employed people in IMSS. The layers are described in ARCHITECTURE.md."""
