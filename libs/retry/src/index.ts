export * from './retry-policy';
export * from './sleep';
