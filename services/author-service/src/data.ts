// The seed's six authors, field for field.
export interface Author {
  id: number;
  name: string;
  book: string;
}

export const authors: readonly Author[] = [
  { id: 1, name: 'Mark Wilkins', book: 'Learning Amazon Web Services (AWS)' },
  { id: 2, name: 'Steve Morad', book: 'AWS Certified Advanced Networking' },
  { id: 3, name: 'Gojko Adzic', book: 'Running Serverless' },
  { id: 4, name: 'Giuseppe Borgese', book: 'Effective DevOps with AWS' },
  { id: 5, name: 'Vikas Aggarwal', book: 'Ansible 2 Cloud Automation Cookbook' },
  { id: 6, name: 'Ajit Pratap Kundan', book: 'VMware Cross-Cloud Architecture' },
];
