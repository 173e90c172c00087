// Call sts:GetCallerIdentity COUNT times through one STS client, then print one JSON line.
//
//   node identity.mjs chain COUNT          credentials from the default chain (AWS_PROFILE picks the profile)
//   node identity.mjs ini COUNT PROFILE    credentials from fromIni({ profile: PROFILE })
//
// Region and endpoint come from AWS_REGION and AWS_ENDPOINT_URL, as for any SDK user.
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromIni } from "@aws-sdk/credential-providers";

const [mode, countArg, profile] = process.argv.slice(2);
const count = Number.parseInt(countArg ?? "1", 10);
const options = {};
if (mode === "ini") {
  options.credentials = fromIni({ profile });
} else if (mode !== "chain") {
  throw new Error(`unknown mode ${mode}: use chain or ini`);
}

const client = new STSClient(options);
const accounts = [];
for (let i = 0; i < count; i += 1) {
  const out = await client.send(new GetCallerIdentityCommand({}));
  accounts.push(out.Account);
}
const identity = await client.config.credentials();
console.log(
  JSON.stringify({
    mode,
    accounts,
    accessKeyId: identity.accessKeyId,
    accountId: identity.accountId ?? null,
    expiration: identity.expiration?.toISOString() ?? null,
  }),
);
