"""The real Pulumi engine here: tools built from Go modules (`build`), an offline engine
environment (`env`), and preview/up/destroy through the Automation API (`ops`)."""
