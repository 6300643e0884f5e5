/** The schema part of a Kafka Connect JSON message (`schemas.enable=true`). */
export interface ConnectSchema {
  type:
    | 'int8'
    | 'int16'
    | 'int32'
    | 'int64'
    | 'float'
    | 'double'
    | 'boolean'
    | 'string'
    | 'bytes'
    | 'array'
    | 'map'
    | 'struct';
  optional?: boolean;
  name?: string;
  version?: number;
  field?: string;
  parameters?: Record<string, string>;
  fields?: ConnectSchema[];
  items?: ConnectSchema;
  keys?: ConnectSchema;
  values?: ConnectSchema;
}

/** A Connect JSON message: `{ schema, payload }`. */
export interface ConnectMessage {
  schema: ConnectSchema | null;
  payload: unknown;
}
