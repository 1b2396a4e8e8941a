// Clang's thread-safety analysis over <parking/parking.hpp>: correctly locked code compiles
// clean under clang++ -Wthread-safety -Wthread-safety-beta -Werror (tests/cxx/CMakeLists.txt).
#include <parking/parking.hpp>

#include <cstdint>

class account
{
  public:
    void deposit(long amount) PL_EXCLUDES(mu_)
    {
        pl::lock_guard<pl::mutex> g(mu_);
        add(amount);
    }
    bool try_deposit(long amount)
    {
        if (!mu_.try_lock_for(std::chrono::milliseconds(1)))
            return false;
        balance_ += amount;
        mu_.unlock();
        return true;
    }
    long wait_positive()
    {
        mu_.lock();
        while (balance_ <= 0)
            cv_.wait(mu_);
        long b = balance_;
        mu_.unlock();
        return b;
    }
    void add_asserted(long amount)
    {
        mu_.assert_held();
        balance_ += amount;
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
    int get() const
    {
        pl::shared_lock_guard<pl::shared_mutex> g(mu_);
        return value_;
    }
    void set(int v)
    {
        pl::lock_guard<pl::shared_mutex> g(mu_);
        value_ = v;
    }
    void bump()
    {
        mu_.lock_upgradable();
        int v = value_;
        mu_.upgrade();
        value_ = v + 1;
        mu_.downgrade();
        mu_.unlock_shared();
    }
    int get_guarded()
    {
        pl::upgradable_lock g(mu_);
        return value_;
    }

  private:
    mutable pl::shared_mutex mu_;
    int value_ PL_GUARDED_BY(mu_) = 0;
};

struct node {
    pl::recursive_mutex mu;
    int depth PL_GUARDED_BY(mu) = 0;
    pl::ptr_lock<node> next;
};

void use_node(node &n)
{
    n.mu.lock();
    n.depth++;
    n.mu.unlock();
    n.next.lock();
    n.next.set(&n);
    n.next.unlock();
}

std::uint64_t word;
void use_bit_lock()
{
    static pl::bit_lock<std::uint64_t> bl(word, 1, 2);
    static int guarded PL_GUARDED_BY(bl);
    pl::lock_guard<pl::bit_lock<std::uint64_t>> g(bl);
    guarded++;
}

// pl::condition_variable_any on the locks themselves: read and write holds, reentrant mutex.
class page
{
  public:
    int wait_loaded()
    {
        pl::shared_lock_guard<pl::shared_mutex> g(mu_);
        while (!loaded_)
            cv_.wait_shared(mu_);
        (void)cv_.wait_shared_for(mu_, std::chrono::milliseconds(1));
        return data_;
    }
    void wait_and_write()
    {
        pl::lock_guard<pl::shared_mutex> g(mu_);
        while (!loaded_)
            cv_.wait(mu_);
        (void)cv_.wait_for(mu_, std::chrono::milliseconds(1));
        data_++;
    }
    void wait_reentrant()
    {
        rm_.lock();
        while (depth_ == 0)
            cv_.wait(rm_);
        (void)cv_.wait_for(rm_, std::chrono::milliseconds(1));
        rm_.unlock();
    }
    void not_locks() // the semaphore, event, latch and barrier are not capabilities
    {
        sem_.acquire();
        sem_.release();
        ev_.set();
    }

  private:
    pl::shared_mutex mu_;
    pl::recursive_mutex rm_;
    pl::condition_variable_any cv_;
    pl::binary_semaphore sem_{1};
    pl::event ev_;
    bool loaded_ PL_GUARDED_BY(mu_) = true;
    int data_ PL_GUARDED_BY(mu_) = 0;
    int depth_ PL_GUARDED_BY(rm_) = 1;
};

int main()
{
    account a;
    a.deposit(1);
    table t;
    t.set(1);
    t.bump();
    node n;
    use_node(n);
    use_bit_lock();
    page p;
    p.not_locks();
    return t.get() == 2 ? 0 : 1;
}
