// Clang's thread-safety analysis over <parking/parking.hpp>: each misuse below is an error
// under clang++ -Wthread-safety -Werror.  Run with -Xclang -verify: clang checks that the
// diagnostic written in the comment of each misuse is reported on its line, and nothing else.
// The expected diagnostics stay one line each:
// clang-format off
#include <parking/parking.hpp>

class account
{
  public:
    void unlocked_write(long amount)
    {
        // expected-error@+1 {{writing variable 'balance_' requires holding mutex 'mu_' exclusively}}
        balance_ += amount;
    }
    void forgot_unlock()
    {
        mu_.lock();
        // expected-error@+1 {{mutex 'mu_' is still held at the end of function}}
    }
    void wait_unlocked()
    {
        // expected-error@+1 {{calling function 'wait' requires holding mutex 'mu_' exclusively}}
        cv_.wait(mu_);
    }
    void guard_then_write(long amount)
    {
        {
            pl::lock_guard<pl::mutex> g(mu_);
            balance_ += amount;
        }
        // expected-error@+1 {{writing variable 'balance_' requires holding mutex 'mu_' exclusively}}
        balance_ -= amount;
    }
    void call_requires()
    {
        // expected-error@+1 {{calling function 'add' requires holding mutex 'mu_' exclusively}}
        add(1);
    }

  private:
    void add(long amount) PL_REQUIRES(mu_) { balance_ += amount; }
    pl::mutex mu_;
    pl::condition_variable cv_;
    long balance_ PL_GUARDED_BY(mu_) = 0;
};

class table
{
  public:
    void write_under_shared(int v)
    {
        pl::shared_lock_guard<pl::shared_mutex> g(mu_);
        // expected-error@+1 {{writing variable 'value_' requires holding mutex 'mu_' exclusively}}
        value_ = v;
    }
    void write_under_upgradable(int v)
    {
        mu_.lock_upgradable();
        // expected-error@+1 {{writing variable 'value_' requires holding mutex 'mu_' exclusively}}
        value_ = v;
        mu_.unlock_upgradable();
    }

  private:
    pl::shared_mutex mu_;
    int value_ PL_GUARDED_BY(mu_) = 0;
};

class page
{
  public:
    void wait_unlocked()
    {
        // expected-error@+1 {{calling function 'wait_shared' requires holding mutex 'mu_'}}
        cv_.wait_shared(mu_);
    }
    void write_wait_under_shared()
    {
        pl::shared_lock_guard<pl::shared_mutex> g(mu_);
        // expected-error@+1 {{calling function 'wait' requires holding mutex 'mu_' exclusively}}
        cv_.wait(mu_);
    }
    void wait_wrong_lock()
    {
        pl::lock_guard<pl::shared_mutex> g(mu_);
        // expected-error@+1 {{calling function 'wait_for<long, std::ratio<1, 1000>>' requires holding mutex 'rm_' exclusively}}
        (void)cv_.wait_for(rm_, std::chrono::milliseconds(1));
    }

  private:
    pl::shared_mutex mu_;
    pl::recursive_mutex rm_;
    pl::condition_variable_any cv_;
};
