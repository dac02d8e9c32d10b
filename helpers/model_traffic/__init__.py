"""What both model servers -- the offline model and the model gateway -- do to a model call besides answering it:
record it and count it (call_stats.py, served at `/stats`), fail it on purpose (faults.py, the lessons' fault
injection), answer in the OpenAI error shape (openai_errors.py), and name the persona its system instructions
describe (persona.py).

Nothing is imported here: each server takes the modules it uses, and the gateway stays free of the offline
model's reply machinery (and the openai types it loads).
"""
