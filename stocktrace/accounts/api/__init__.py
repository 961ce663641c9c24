from stocktrace.accounts.api import auth, members, organizations, tokens

ROUTES = [("/auth", auth.router), ("", organizations.router), ("/members", members.router), ("/tokens", tokens.router)]
