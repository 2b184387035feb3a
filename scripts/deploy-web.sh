#!/usr/bin/env bash
# Publishes the web UI to a deployed stack: builds it, writes config.json from the stack's outputs (the HTTP
# API, the WebSocket API and, when the stack made a user pool, its Cognito hosted UI), and uploads it to the
# stack's web bucket behind CloudFront. Usage: scripts/deploy-web.sh [stack name, default call-analytics].
# A stack deployed with DeployWebUi=false has no web bucket: refused before anything is built or uploaded.
set -euo pipefail
stack=${1:-call-analytics}
cd "$(dirname "$0")/.."
out() { aws cloudformation describe-stacks --stack-name "$stack" --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text; }
bucket=$(out WebBucketName)
if [ -z "$bucket" ] || [ "$bucket" = None ]; then
  echo "stack $stack has no web UI (deployed with DeployWebUi=false): once the account may use CloudFront," >&2
  echo "deploy it again with DeployWebUi=true (make aws-deploy GUIDED=1 asks), then run make aws-web again" >&2
  exit 2
fi
scripts/web.sh
python3 - "$(out HttpApiUrl)" "$(out WebSocketUrl)" "$(out CognitoDomain)" "$(out UserPoolClientId)" > web/dist/config.json <<'PY'
import json, sys
api, ws, domain, client = sys.argv[1:5]
config = {"api_base": api, "websocket_url": ws}
if domain not in ("", "None"):
    config["cognito"] = {"domain": domain, "client_id": client}
print(json.dumps(config))
PY
# Asset names are not content-hashed, so they are cached for minutes, not forever; the page and its
# settings are revalidated on every load.
aws s3 sync web/dist "s3://$bucket" --delete --exclude index.html --exclude config.json --cache-control "public,max-age=300"
for f in index.html config.json; do
  aws s3 cp "web/dist/$f" "s3://$bucket/$f" --cache-control "no-cache"
done
echo "web UI published: $(out WebUrl)"
