import { Admin } from './admin.js';
import type { ClusterOptions } from './cluster.js';
import { Consumer, type ConsumerOptions } from './consumer.js';
import { Producer, type ProducerOptions } from './producer.js';

export type FluxoClientOptions = ClusterOptions;

/** Entry point like kafkajs' `new Kafka({ brokers })`: shared connection settings, one Cluster per component. */
export class FluxoClient {
  constructor(private readonly options: FluxoClientOptions) {}

  producer(options: Omit<ProducerOptions, keyof ClusterOptions> & Partial<ClusterOptions> = {}): Producer {
    return new Producer({ ...this.options, ...options });
  }

  consumer(options: Omit<ConsumerOptions, keyof ClusterOptions> & Partial<ClusterOptions> = {}): Consumer {
    return new Consumer({ ...this.options, ...options });
  }

  admin(options: Partial<ClusterOptions> = {}): Admin {
    return new Admin({ ...this.options, ...options });
  }
}
