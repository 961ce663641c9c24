from stocktrace.accounts.api import auth, members, organizations, sites, tokens

ROUTES = [("/auth", auth.router), ("", organizations.router), ("/members", members.router), ("/sites", sites.router),
          ("/tokens", tokens.router)]
