//! The elements the check looks at, matched by local name, and the field
//! each path of them below the root fills (the paths are listed in the
//! `xaf` module's docs).

macro_rules! tags {
    ($($tag:ident = $name:literal,)*) => {
        /// The elements the check looks at; every other one is `Other`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(super) enum Tag {
            $($tag,)*
            Other,
        }

        impl Tag {
            pub(super) fn of(name: &[u8]) -> Tag {
                match name {
                    $(name if name == $name.as_bytes() => Tag::$tag,)*
                    _ => Tag::Other,
                }
            }

            /// "`<name>`" for messages.
            pub(super) fn describe(self) -> &'static str {
                match self {
                    $(Tag::$tag => concat!("<", $name, ">"),)*
                    Tag::Other => "an element",
                }
            }
        }
    };
}

tags! {
    Auditfile = "auditfile",
    Header = "header",
    FiscalYear = "fiscalYear",
    StartDate = "startDate",
    EndDate = "endDate",
    CurCode = "curCode",
    SoftwareDesc = "softwareDesc",
    SoftwareVersion = "softwareVersion",
    Company = "company",
    CompanyIdent = "companyIdent",
    Commercenr = "Commercenr",
    CompanyName = "companyName",
    CustomersSuppliers = "customersSuppliers",
    CustomerSupplier = "customerSupplier",
    CustomerSupplierHistory = "customerSupplierHistory",
    CustSupId = "custSupID",
    CustSupName = "custSupName",
    EMail = "eMail",
    Telephone = "telephone",
    Fax = "fax",
    BankAccount = "bankAccount",
    BankAccNr = "bankAccNr",
    GeneralLedger = "generalLedger",
    LedgerAccount = "ledgerAccount",
    Transactions = "transactions",
    LinesCount = "linesCount",
    TotalDebit = "totalDebit",
    TotalCredit = "totalCredit",
    Journal = "journal",
    Transaction = "transaction",
    TrLine = "trLine",
    Amnt = "amnt",
    AmntTp = "amntTp",
}

/// An element whose text the check keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Field {
    FiscalYear,
    StartDate,
    EndDate,
    Currency,
    Software,
    SoftwareVersion,
    CompanyId,
    CompanyName,
    LinesCount,
    TotalDebit,
    TotalCredit,
    Amount,
    Side,
    PartyId,
    PartyName,
    PartyEmail,
    PartyPhone,
    PartyBank,
}

/// The field at a path of elements below the root, if any.
pub(super) fn field_at(path: &[Tag]) -> Option<Field> {
    use Tag::*;
    Some(match path {
        [Header, FiscalYear] => Field::FiscalYear,
        [Header, StartDate] => Field::StartDate,
        [Header, EndDate] => Field::EndDate,
        [Header, CurCode] => Field::Currency,
        [Header, SoftwareDesc] => Field::Software,
        [Header, SoftwareVersion] => Field::SoftwareVersion,
        [Company, CompanyIdent | Commercenr] => Field::CompanyId,
        [Company, CompanyName] => Field::CompanyName,
        [Company, Transactions, LinesCount] => Field::LinesCount,
        [Company, Transactions, TotalDebit] => Field::TotalDebit,
        [Company, Transactions, TotalCredit] => Field::TotalCredit,
        [Company, Transactions, Journal, Transaction, TrLine, Amnt] => Field::Amount,
        [Company, Transactions, Journal, Transaction, TrLine, AmntTp] => Field::Side,
        [Company, CustomersSuppliers, CustomerSupplier, party @ ..] => party_field(party)?,
        _ => return None,
    })
}

/// The field at a path below a `customerSupplier`: its own identifiers, and
/// the contact details of its history.
fn party_field(path: &[Tag]) -> Option<Field> {
    use Tag::*;
    let (history, path) = match path {
        [CustomerSupplierHistory, CustomerSupplier, rest @ ..] => (true, rest),
        _ => (false, path),
    };
    Some(match path {
        [CustSupId] if !history => Field::PartyId,
        [CustSupName] if !history => Field::PartyName,
        [EMail] => Field::PartyEmail,
        [Telephone | Fax] => Field::PartyPhone,
        [BankAccount, BankAccNr] => Field::PartyBank,
        _ => return None,
    })
}
