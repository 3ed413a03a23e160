"""``python -m framework.httpclient URL...`` (see ``framework.httpclient.cli``)."""

from framework.httpclient.cli import main

if __name__ == "__main__":
    main()
