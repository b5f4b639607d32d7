// The TypeScript pipeline's DynamoDBStorage writes, replayed for the tests (a mixed fleet's other producer).
//
//   node producer.mjs --endpoint http://127.0.0.1:PORT --region us-east-1 --table NAME
//
// Reads one JSON command a line on stdin and prints one JSON result a line on stdout, so one node
// process serves a whole test. Every result is {"ok": true, ...} or {"ok": false, "error": "..."}:
// a failed command never ends the loop. Commands:
//   {"op": "createTable", "stream": true}     the seed's layout: hash key generationId (S), pay per
//                                              request; "stream" adds NEW_AND_OLD_IMAGES -> {streamArn}
//   {"op": "put", "item": {...}}              save(): PutCommand of the whole state, createdAt and
//                                              updatedAt set to now when absent -> {item}
//   {"op": "update", "id": "..", "updates": {...}}             update(): SET each key and updatedAt
//   {"op": "updateStage", "id": "..", "stage": "script", "value": {...}}   one stage -> {item}
//   {"op": "delete", "id": ".."}              delete(): DeleteCommand
//   {"op": "get", "id": ".."}                 get(): GetCommand -> {item} (null when absent)

import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";

const { values: args } = parseArgs({
  options: {
    endpoint: { type: "string" },
    region: { type: "string", default: process.env.AWS_REGION || "us-east-1" },
    table: { type: "string", default: process.env.DYNAMODB_TABLE_NAME || "video-gennie-generations" },
  },
});

const client = new DynamoDBClient({
  region: args.region,
  endpoint: args.endpoint,
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID || "test",
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY || "test",
  },
});
// As the pipeline's document client: optional stages left undefined are dropped, not refused.
const documents = DynamoDBDocumentClient.from(client, {
  marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
});
const TableName = args.table;

async function createTable({ stream = false }) {
  const { TableDescription } = await client.send(new CreateTableCommand({
    TableName,
    KeySchema: [{ AttributeName: "generationId", KeyType: "HASH" }],
    AttributeDefinitions: [{ AttributeName: "generationId", AttributeType: "S" }],
    BillingMode: "PAY_PER_REQUEST",
    ...(stream && { StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" } }),
  }));
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName });
  return { streamArn: TableDescription.LatestStreamArn ?? null };
}

async function put({ item }) {
  const now = new Date().toISOString();
  const Item = { ...item, createdAt: item.createdAt || now, updatedAt: item.updatedAt || now };
  await documents.send(new PutCommand({ TableName, Item }));
  return { item: Item };
}

// Names go through #placeholders: several stage names and attributes are DynamoDB reserved words.
async function update({ id, updates }) {
  const sets = [];
  const ExpressionAttributeNames = { "#updatedAt": "updatedAt" };
  const ExpressionAttributeValues = { ":updatedAt": new Date().toISOString() };
  Object.entries(updates).forEach(([key, value], index) => {
    if (key === "generationId" || value === undefined) return;
    sets.push(`#k${index} = :v${index}`);
    ExpressionAttributeNames[`#k${index}`] = key;
    ExpressionAttributeValues[`:v${index}`] = value;
  });
  sets.push("#updatedAt = :updatedAt");
  const { Attributes } = await documents.send(new UpdateCommand({
    TableName,
    Key: { generationId: id },
    UpdateExpression: `SET ${sets.join(", ")}`,
    ConditionExpression: "attribute_exists(generationId)",
    ExpressionAttributeNames,
    ExpressionAttributeValues,
    ReturnValues: "ALL_NEW",
  }));
  return { item: Attributes };
}

const operations = {
  createTable,
  put,
  update,
  updateStage: ({ id, stage, value }) => update({ id, updates: { [stage]: value } }),
  delete: async ({ id }) => {
    await documents.send(new DeleteCommand({ TableName, Key: { generationId: id } }));
    return {};
  },
  get: async ({ id }) => {
    const { Item } = await documents.send(new GetCommand({ TableName, Key: { generationId: id } }));
    return { item: Item ?? null };
  },
};

async function run(line) {
  try {
    const command = JSON.parse(line);
    const operation = operations[command.op];
    if (!operation) throw new Error(`unknown op ${JSON.stringify(command.op)}`);
    return { ok: true, ...(await operation(command)) };
  } catch (error) {
    return { ok: false, error: `${error.name || "Error"}: ${error.message}` };
  }
}

// One command at a time, in order: each result line answers the command line before it.
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (line.trim()) process.stdout.write(`${JSON.stringify(await run(line))}\n`);
}
