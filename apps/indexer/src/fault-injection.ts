/**
 * Deliberate failures for end-to-end tests of the indexer's own recovery. Off unless
 * INDEXER_FAULT_INJECTION=true: a production indexer can never be made to fail on request.
 */
export class FaultInjectionDisabledError extends Error {
  constructor() {
    super('fault injection is disabled: start the indexer with INDEXER_FAULT_INJECTION=true');
    this.name = 'FaultInjectionDisabledError';
  }
}

/**
 * Thrown from inside the consumer's batch handler. `retriable = false` makes kafkajs give up on
 * the consumer at once (a `Crash: KafkaJSNonRetriableError`), exactly like an unexpected error
 * from the handler would.
 */
export class InjectedFaultError extends Error {
  readonly retriable = false;
  constructor() {
    super('injected fault: consumer crash requested through POST /faults/consumer-crash');
    this.name = 'InjectedFaultError';
  }
}

export class FaultInjection {
  private consumerCrashArmed = false;

  constructor(readonly enabled: boolean) {}

  /** The next batch the consumer handles throws. */
  armConsumerCrash(): void {
    if (!this.enabled) throw new FaultInjectionDisabledError();
    this.consumerCrashArmed = true;
  }

  /** Called by the consumer at the start of every batch. */
  throwIfConsumerCrashArmed(): void {
    if (!this.consumerCrashArmed) return;
    this.consumerCrashArmed = false;
    throw new InjectedFaultError();
  }
}
