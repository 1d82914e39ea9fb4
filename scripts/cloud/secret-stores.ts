// The two stores a task's secret comes from, as deploy's secret check asks them: an SSM
// parameter's tags (ListTagsForResource; a missing parameter answers InvalidResourceId: SSM API
// reference), a Secrets Manager secret's tags and deletion date (DescribeSecret, which returns no
// value; a missing secret answers ResourceNotFoundException, and one scheduled for deletion can
// be read by no one until it is restored: Secrets Manager API reference, DescribeSecret), and the
// `aws` commands that create or tag each. Copilot's execution role reads either only when tagged
// for the app and environment (workloads/partials/cf/executionrole.yml, v1.33.2).
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { ListTagsForResourceCommand } from '@aws-sdk/client-ssm';

export type Tag = { Key?: string | undefined; Value?: string | undefined };

export interface SecretReaders {
  ssm: { send(command: ListTagsForResourceCommand): Promise<{ TagList?: Tag[] | undefined }> };
  secretsManager: {
    send(
      command: DescribeSecretCommand,
    ): Promise<{ Tags?: Tag[] | undefined; DeletedDate?: Date | undefined }>;
  };
}

export interface Place {
  app: string;
  env: string;
  region: string;
}

/** What a store says of one resource: its tags, or that it is missing or being deleted. */
export type Found =
  | { kind: 'tagged'; tags: Tag[] }
  | { kind: 'missing' }
  | { kind: 'deleted'; on: Date };

export interface SecretStore {
  /** How a message names one of its resources: `SSM parameter`. */
  noun: string;
  read(readers: SecretReaders, id: string): Promise<Found>;
  /** The command that creates the resource, tagged. */
  create(place: Place, id: string): string;
  /** The command that tags an existing resource for the app and environment. */
  tag(place: Place, id: string): string;
  /** What a refusal to read it means under iam/github-deploy-role.yml. */
  denied(place: Place): string;
}

/** The `Key=...,Value=...` pairs the execution role's conditions ask for. */
const tagPairs = (place: Place) =>
  `Key=copilot-application,Value=${place.app} Key=copilot-environment,Value=${place.env}`;

const errorName = (error: unknown) => (error as Error).name;

export const ssmStore: SecretStore = {
  noun: 'SSM parameter',
  async read(readers, id) {
    const input = { ResourceType: 'Parameter' as const, ResourceId: id };
    try {
      const { TagList } = await readers.ssm.send(new ListTagsForResourceCommand(input));
      return { kind: 'tagged', tags: TagList ?? [] };
    } catch (error) {
      if (errorName(error) === 'InvalidResourceId') return { kind: 'missing' };
      throw error;
    }
  },
  create: (place, id) =>
    `aws ssm put-parameter --region ${place.region} --name ${id} --type SecureString --value <value> --tags ${tagPairs(place)}`,
  tag: (place, id) =>
    `aws ssm add-tags-to-resource --region ${place.region} --resource-type Parameter --resource-id ${id} --tags ${tagPairs(place)}`,
  denied: (place) =>
    `the deploy role reads the tags of parameters under /copilot/${place.app}/${place.env}/secrets/ only`,
};

export const secretsManagerStore: SecretStore = {
  noun: 'Secrets Manager secret',
  async read(readers, id) {
    try {
      const { Tags, DeletedDate } = await readers.secretsManager.send(
        new DescribeSecretCommand({ SecretId: id }),
      );
      return DeletedDate
        ? { kind: 'deleted', on: DeletedDate }
        : { kind: 'tagged', tags: Tags ?? [] };
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') return { kind: 'missing' };
      throw error;
    }
  },
  // A secret named by its ARN is created by the name in it.
  create: (place, id) =>
    `aws secretsmanager create-secret --region ${place.region} --name ${id.replace(/^arn:[^:]*:secretsmanager:[^:]*:[^:]*:secret:/, '')} --secret-string <value> --tags ${tagPairs(place)}`,
  tag: (place, id) =>
    `aws secretsmanager tag-resource --region ${place.region} --secret-id ${id} --tags ${tagPairs(place)}`,
  denied: (place) =>
    `the deploy role describes only secrets tagged copilot-application=${place.app}: if it ran this, the secret is missing or not tagged so, and the tasks cannot read it either`,
};

/** The command that restores a secret scheduled for deletion. */
export const restoreSecret = (place: Place, id: string) =>
  `aws secretsmanager restore-secret --region ${place.region} --secret-id ${id}`;
