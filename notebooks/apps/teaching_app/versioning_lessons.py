"""Notebook 08 (changing code safely): the activities of a newsletter whose orchestrator changes under running instances.

The orchestrator, `newsletter`, is written in the notebook, in each of its versions, and put on the host with
`kit.deploy(...)`, which restarts the host on the changed code with the same state: a deployment, as far as the
instances in flight can tell. Its steps are these activities, all deployed from the start (new code may call an
activity that old code never did):

- `notify_reviewer`      tells the reviewer a draft is waiting (stands in for an e-mail);
- `check_facts`          the step version 2.0 adds before the reviewer is told;
- `translate_newsletter` the step the exercise adds for version 3.0, after the approval;
- `publish_newsletter`   publishes the approved text.

Each returns what it did ("facts checked", "published"), so an instance's history reads as the path it took,
whatever the model wrote.
"""

from kit_app import app


@app.activity_trigger(input_name="draft")
def notify_reviewer(draft: str) -> str:
    return "reviewer notified"


@app.activity_trigger(input_name="draft")
def check_facts(draft: str) -> str:
    return "facts checked"


@app.activity_trigger(input_name="draft")
def translate_newsletter(draft: str) -> str:
    return "translated"


@app.activity_trigger(input_name="draft")
def publish_newsletter(draft: str) -> str:
    return "published"
