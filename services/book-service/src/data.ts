// The seed's six books, field for field: isbn is a 13-digit JSON number, date is MM/DD/YYYY.
export interface Book {
  id: number;
  isbn: number;
  title: string;
  publisher: string;
  date: string;
}

export const books: readonly Book[] = [
  {
    id: 1,
    isbn: 9781119490708,
    title: 'AWS Certified Cloud Practitioner Study',
    publisher: 'Wiley',
    date: '07/02/2019',
  },
  {
    id: 2,
    isbn: 9781788293723,
    title: 'Mastering AWS Security',
    publisher: 'Packt Publishing',
    date: '10/30/2017',
  },
  {
    id: 3,
    isbn: 9781789806199,
    title: 'Machine Learning with AWS',
    publisher: 'Packt Publishing',
    date: '11/02/2018',
  },
  {
    id: 4,
    isbn: 9781782171102,
    title: 'Learning Aws Opsworks',
    publisher: 'Packt Publishing',
    date: '09/10/2013',
  },
  {
    id: 5,
    isbn: 9781789340198,
    title: 'AWS Lambda Quick Start Guide',
    publisher: 'Packt Publishing',
    date: '06/29/2018',
  },
  {
    id: 6,
    isbn: 9781542885751,
    title: 'AWS Basics',
    publisher: 'CreateSpace Publishing',
    date: '02/09/2017',
  },
];
