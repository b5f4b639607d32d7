"""The JavaScript producer (producer.mjs) the DynamoDB tests replay the TypeScript pipeline with."""
