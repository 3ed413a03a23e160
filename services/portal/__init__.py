"""The portal: the suite's landing page, linking every demo and saying what each shows."""
