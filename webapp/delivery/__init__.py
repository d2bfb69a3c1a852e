"""Getting finished reports to people: e-mail (mail.py), signed webhooks
(webhooks.py), in-app notices, and the attempts of each."""
